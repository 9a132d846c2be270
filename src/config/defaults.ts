/**
 * Built-in publish targets (original §4.3 resource ids). Debug uses separate "-test" targets so a debug run never
 * touches a production dataset (fixes B24); point them at real test datasets in the config file.
 */
export const DEFAULT_DATASETS: Record<string, { production: string; debug: string }> = {
  "bt.unmatched": { production: "qnpj-zrb9", debug: "qnpj-zrb9-test" },
  "bt.matched": { production: "x44q-icha", debug: "x44q-icha-test" },
  "bt.traf_match_summary": { production: "v7zg-5jg9", debug: "v7zg-5jg9-test" },
  wt: { production: "i626-g7ub", debug: "i626-g7ub-test" },
  gs: { production: "sh59-i6y9", debug: "sh59-i6y9-test" },
};
