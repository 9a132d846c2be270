-- Performance-metric tables (original §5.1) in schema api, plus "_test" twins that debug runs write to
-- (the original wrote debug runs into the production tables, B24). Idempotent: safe to run again.

create schema if not exists api;

do $$
begin
  if not exists (select from pg_roles where rolname = 'web_anon') then create role web_anon nologin; end if;
  if not exists (select from pg_roles where rolname = 'lake_writer') then create role lake_writer nologin; end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator noinherit login;
  end if;
end
$$;
grant web_anon to authenticator;
grant lake_writer to authenticator;
grant usage on schema api to web_anon, lake_writer;

do $$
declare
  suffix text;
begin
  foreach suffix in array array['', '_test'] loop
    execute format($f$
      create table if not exists api.etl_perfmet_job%1$s (
        id serial not null,
        data_source varchar not null,      -- long name: Bluetooth, Wavetronix, GRIDSMART
        stage varchar not null,            -- Ingest, Standardize, Ready, Aggregate, Publish
        seconds real,
        records integer,                   -- items processed (the original's column)
        processing_date timestamptz not null,
        collection_start timestamptz,
        collection_end timestamptz,
        rows integer,                      -- rows written or published (added; null in older rows)
        constraint etl_perfmet_job%1$s_pkey primary key (processing_date, data_source, stage)
      )$f$, suffix);
    execute format($f$
      create table if not exists api.etl_perfmet_obs%1$s (
        id serial not null,
        data_source varchar not null,
        sensor_name varchar not null,
        data_type varchar not null,        -- "Unmatched Entries", "Vehicle Counts"
        data real,
        expected real,
        collection_date timestamptz not null,
        timestamp_min timestamptz,
        timestamp_max timestamptz,
        constraint etl_perfmet_obs%1$s_pkey primary key (collection_date, data_source, data_type, sensor_name)
      )$f$, suffix);
    -- A table made before the rows column: add it (idempotent).
    execute format('alter table api.etl_perfmet_job%1$s add column if not exists rows integer', suffix);
    execute format('grant select on api.etl_perfmet_job%1$s, api.etl_perfmet_obs%1$s to web_anon', suffix);
    execute format('grant select, insert, update, delete on api.etl_perfmet_job%1$s, api.etl_perfmet_obs%1$s to lake_writer', suffix);
    execute format('grant usage, select on sequence api.etl_perfmet_job%1$s_id_seq, api.etl_perfmet_obs%1$s_id_seq to lake_writer', suffix);
  end loop;
end
$$;

notify pgrst, 'reload schema';
