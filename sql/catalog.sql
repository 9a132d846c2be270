-- Catalog table (original §2.1) in schema api, served by PostgREST or read directly by the postgres driver.
-- Idempotent: safe to run again on an existing database.
-- Roles: web_anon (anonymous, read-only), lake_writer (the role named in the writers' JWT), authenticator (the
-- login PostgREST connects as; it switches to web_anon or lake_writer per request).

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

create table if not exists api.data_lake_cat (
  id serial not null,
  repository text not null,
  data_source text not null,
  id_base text not null,
  id_ext text not null,
  pointer text not null,
  collection_date timestamptz not null,   -- start of collection, inclusive
  collection_end timestamptz,             -- exclusive end; null = collection_date + 1 day
  processing_date timestamptz,
  metadata jsonb,
  constraint data_lake_cat_pkey primary key (collection_date, repository, data_source, id_base, id_ext)
);
create index if not exists data_lake_cat_collection_date_idx on api.data_lake_cat (collection_date);

grant select on api.data_lake_cat to web_anon;
grant select, insert, update, delete on api.data_lake_cat to lake_writer;
grant usage, select on sequence api.data_lake_cat_id_seq to lake_writer;

-- PostgREST caches the schema: tell it about new tables and constraints (on_conflict needs them).
notify pgrst, 'reload schema';
