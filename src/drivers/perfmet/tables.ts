/** Perfmet table names; debug runs use the "_test" tables (fixes B24). */
export function perfmetTables(debug: boolean, names: { job?: string; obs?: string } = {}): { job: string; obs: string } {
  const job = names.job ?? "etl_perfmet_job";
  const obs = names.obs ?? "etl_perfmet_obs";
  return debug ? { job: `${job}_test`, obs: `${obs}_test` } : { job, obs };
}

export const jobKey = (j: { processing_date: number; data_source: string; stage: string }) =>
  `${j.processing_date}\u0000${j.data_source}\u0000${j.stage}`;
export const obsKey = (o: { collection_date: number; data_source: string; data_type: string; sensor_name: string }) =>
  `${o.collection_date}\u0000${o.data_source}\u0000${o.data_type}\u0000${o.sensor_name}`;
