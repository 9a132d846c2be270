/** sql/catalog.sql and sql/perfmet.sql: load twice into a fresh database (idempotent), with the original's keys. */
import { readFileSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RUN_ID } from "../helpers/context.js";
import { describeService, serviceEnv } from "../helpers/services.js";

const file = (name: string) => readFileSync(new URL(`../../sql/${name}`, import.meta.url), "utf8");

describeService(["PG_URL"], "sql schema files", () => {
  const dbName = `lake_schema_${RUN_ID}`;
  let admin: pg.Client;
  let db: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: serviceEnv("PG_URL") });
    await admin.connect();
    await admin.query(`create database "${dbName}" template template1`);
    const url = new URL(serviceEnv("PG_URL")!);
    url.pathname = `/${dbName}`;
    db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await admin?.query(`drop database if exists "${dbName}"`);
    await admin?.end();
  });

  it("load twice without error", async () => {
    for (let i = 0; i < 2; i++) {
      await db.query(file("catalog.sql"));
      await db.query(file("perfmet.sql"));
    }
  });

  it("have the original's primary keys, and _test twins of the perfmet tables", async () => {
    const { rows } = await db.query<{ table_name: string; cols: string }>(`
      select tc.table_name, string_agg(kcu.column_name, ',' order by kcu.ordinal_position) as cols
      from information_schema.table_constraints tc
      join information_schema.key_column_usage kcu on kcu.constraint_name = tc.constraint_name and kcu.table_schema = tc.table_schema
      where tc.table_schema = 'api' and tc.constraint_type = 'PRIMARY KEY'
      group by tc.table_name order by tc.table_name`);
    expect(rows).toEqual([
      { table_name: "data_lake_cat", cols: "collection_date,repository,data_source,id_base,id_ext" },
      { table_name: "etl_perfmet_job", cols: "processing_date,data_source,stage" },
      { table_name: "etl_perfmet_job_test", cols: "processing_date,data_source,stage" },
      { table_name: "etl_perfmet_obs", cols: "collection_date,data_source,data_type,sensor_name" },
      { table_name: "etl_perfmet_obs_test", cols: "collection_date,data_source,data_type,sensor_name" },
    ]);
  });

  it("give web_anon read only and lake_writer write, through authenticator", async () => {
    const { rows } = await db.query<{ role: string; priv: string }>(`
      select grantee as role, string_agg(privilege_type, ',' order by privilege_type) as priv
      from information_schema.role_table_grants where table_schema = 'api' and table_name = 'data_lake_cat'
        and grantee in ('web_anon', 'lake_writer') group by grantee order by grantee`);
    expect(rows).toEqual([
      { role: "lake_writer", priv: "DELETE,INSERT,SELECT,UPDATE" },
      { role: "web_anon", priv: "SELECT" },
    ]);
    const members = await db.query<{ r: string }>(
      "select b.rolname as r from pg_auth_members m join pg_roles a on a.oid = m.member join pg_roles b on b.oid = m.roleid where a.rolname = 'authenticator' order by 1",
    );
    expect(members.rows.map((m) => m.r)).toEqual(["lake_writer", "web_anon"]);
  });

  it("index the catalog on collection_date", async () => {
    const { rows } = await db.query("select indexdef from pg_indexes where schemaname = 'api' and tablename = 'data_lake_cat' and indexname = 'data_lake_cat_collection_date_idx'");
    expect(rows[0]?.indexdef).toMatch(/\(collection_date\)/);
  });
});
