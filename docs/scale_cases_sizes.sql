-- docs/scale.md §1: bytes per case, case event and audit row, measured on the Baoji demo (psql -f; any scratch DB
-- holding the demo's incidents). Columns and indexes as migration 0007 (cases) and audit_log define them.
DROP SCHEMA IF EXISTS scratch CASCADE;
CREATE SCHEMA scratch;
CREATE TABLE scratch.cases (
 id bigserial primary key, incident_id bigint not null unique, reporter text not null, idempotency_key text collate "C",
 channel varchar(16) not null, category varchar(16) not null, priority varchar(8) not null default 'normal',
 state varchar(24) not null, unit_kind varchar(12) not null, unit_code varchar(15) not null, unit_department varchar(32),
 dispatch_code varchar(15), handler_kind varchar(12), handler_code varchar(15), handler_department varchar(32),
 grid_code varchar(15), community_code varchar(12), town_code varchar(9), county_code varchar(6),
 reported_at timestamptz not null, step_started_at timestamptz not null, deadline_at timestamptz, parked_until date,
 rework_count smallint not null default 0, late_steps smallint not null default 0, closed_at timestamptz, closed_level varchar(12),
 version int not null default 1, updated_at timestamptz not null default now(), unique (reporter, idempotency_key));
CREATE INDEX ON scratch.cases (unit_code); CREATE INDEX ON scratch.cases (county_code, reported_at);
CREATE INDEX ON scratch.cases (deadline_at) WHERE state NOT IN ('declined','closed');
CREATE TABLE scratch.case_events (
 id bigserial primary key, case_id bigint not null references scratch.cases(id), step varchar(24) not null, at timestamptz not null,
 actor text not null, from_unit_kind varchar(12), from_unit_code varchar(15), from_unit_department varchar(32),
 to_unit_kind varchar(12), to_unit_code varchar(15), to_unit_department varchar(32), note text, days smallint, review_on date,
 deadline_at timestamptz, due_key timestamptz, elapsed_s int, late boolean not null default false, geom geometry(Point,4326));
CREATE INDEX ON scratch.case_events (case_id, id); CREATE INDEX ON scratch.case_events (at);
CREATE INDEX ON scratch.case_events USING gist (geom);
CREATE UNIQUE INDEX ON scratch.case_events (case_id, step, due_key) WHERE due_key IS NOT NULL;
-- one case per 2020 incident (every report becomes a case on a national platform), closed after six steps
INSERT INTO scratch.cases (incident_id, reporter, idempotency_key, channel, category, state, unit_kind, unit_code,
  grid_code, community_code, town_code, county_code, reported_at, step_started_at, deadline_at, closed_at, closed_level, version)
SELECT id, 'worker' || (id % 1500), md5(id::text), 'grid_worker', category, 'closed', 'community', coalesce(community_code, '610302001001'),
  grid_code, community_code, town_code, county_code, occurred_at, occurred_at + interval '2 days', occurred_at + interval '5 days',
  occurred_at + interval '4 days', 'community', 6
FROM incidents WHERE occurred_at >= '2020-01-01';
INSERT INTO scratch.case_events (case_id, step, at, actor, from_unit_kind, from_unit_code, to_unit_kind, to_unit_code, note, deadline_at, elapsed_s, geom)
SELECT c.id, s.step, c.reported_at + s.n * interval '12 hours', 'worker' || (c.id % 1500), 'community', c.community_code, 'community', c.community_code,
  CASE WHEN s.n = 0 THEN '居民反映楼道堆放杂物，已现场劝导' END, c.reported_at + interval '5 days', s.n * 43200,
  CASE WHEN s.n = 0 THEN i.geom END
FROM scratch.cases c JOIN incidents i ON i.id = c.incident_id
CROSS JOIN (VALUES (0,'report'),(1,'file'),(2,'dispatch'),(3,'handle'),(4,'verify'),(5,'close')) AS s(n, step);
CREATE TABLE scratch.audit (LIKE public.audit_log INCLUDING ALL);
INSERT INTO scratch.audit (actor, action, entity_type, entity_id, before, after)
SELECT 'worker' || (id % 1500), 'step', 'case', case_id::text,
  jsonb_build_object('state','filed','unit_code','610302001001','version',3),
  jsonb_build_object('state','dispatched','unit_code','610302001001','version',4,'step',step)
FROM scratch.case_events;
ANALYZE scratch.cases; ANALYZE scratch.case_events; ANALYZE scratch.audit;
SELECT relname, reltuples::bigint, pg_total_relation_size(oid) total, pg_indexes_size(oid) idx,
  round(pg_total_relation_size(oid)::numeric / greatest(reltuples,1)) AS bytes_per_row
FROM pg_class WHERE relnamespace = 'scratch'::regnamespace AND relkind = 'r'
UNION ALL
SELECT relname, reltuples::bigint, pg_total_relation_size(oid), pg_indexes_size(oid), round(pg_total_relation_size(oid)::numeric / greatest(reltuples,1))
FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname IN ('incidents','incident_daily_counts','grids','admin_units','grid_versions','compounds','department_grids','patrol_routes','audit_log');
DROP SCHEMA scratch CASCADE;
