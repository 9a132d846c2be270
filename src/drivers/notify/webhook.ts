/**
 * Notifier `webhook`: POSTs the run notice (JSON) to a URL, on failure or always, with a token header from a secret.
 * Vendor I/O only: the driver runtime gives each POST its deadline, retries transient failures (network, 408, 429,
 * 5xx) and masks secrets in the notice and in any error. The URL may itself be a secret (`urlSecret`: chat webhooks
 * carry their key in the path); messages name its origin only.
 */
import { defineDriver } from "../define.js";
import { webhookOptions, type WebhookOptions } from "../options.js";
import { ConfigError, httpStatusError, networkCode, TransientError } from "../../support/errors.js";
import type { NotifyDriver, RunNotice } from "../../support/notify.js";

export function createWebhookNotifier(o: WebhookOptions, url: string, token: string | undefined): NotifyDriver {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new ConfigError("notify (webhook): the URL is not a URL: check notify.options.url or the secret named by urlSecret");
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") throw new ConfigError(`notify (webhook): the URL must be http or https, not ${target.protocol}`);
  if (target.username || target.password) {
    throw new ConfigError("notify (webhook): the URL carries credentials: put the token in the secret named by tokenSecret instead");
  }
  const where = target.origin;
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "lakeflow-webhook" };
  if (token) headers[o.header.toLowerCase()] = o.scheme ? `${o.scheme} ${token}` : token;
  return {
    driverName: "webhook",
    where,
    wants: (n: RunNotice) => (n.simulate ? o.simulations : true) && (o.on === "always" || !n.ok),
    async notify(notice, opts) {
      const signal = opts?.signal;
      let res: Response;
      try {
        res = await fetch(target, { method: "POST", headers, body: JSON.stringify(notice), ...(signal ? { signal } : {}) });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        throw new TransientError(`notify (webhook): cannot reach ${where} (${networkCode(err)}): check the network and the URL`, { cause: err });
      }
      let body = "";
      try {
        body = await res.text();
      } catch {
        // the status says enough
      }
      const e = httpStatusError(`notify (webhook): POST to ${where}`, { status: res.status, body, retryAfter: res.headers.get("retry-after") }, {
        credentials: `check the token in the secret ${o.tokenSecret} (sent as ${o.header})`,
        notFound: "check the URL",
      });
      if (e) throw e;
    },
  };
}

export default defineDriver({
  options: webhookOptions,
  create(o, ctx) {
    const url = o.url ?? ctx.secrets.require(o.urlSecret!, "the webhook URL of notify");
    return createWebhookNotifier(o, url, ctx.secrets.get(o.tokenSecret));
  },
});
