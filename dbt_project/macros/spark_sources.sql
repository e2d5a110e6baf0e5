{#-
  The raw layer as dbt sources on Spark: an on-run-start hook (dbt_project.yml) declares every
  source as an external Parquet table over its directory under REDCAT_RAW_DIR, with the columns
  and types of models/staging/_sources.yml, partitioned by its hive folders (meta.raw_partitions:
  dt= of the delivery dates, and partner= for the partners' tables). Ingestion keeps writing files as before; nothing is copied. A source that is one file
  (the operators' acceptances) becomes a view over that file instead: a metastore table's
  location must be a directory, and that file's directory holds its .tmp sibling while
  `redcat accept` rewrites it.
    - `recover partitions` registers dt= folders that appeared since the last run;
    - `refresh table` drops file listings a long-lived session (a Thrift server) has cached;
    - files whose names start with `_` (ingestion's `_pending-*.parquet`) are ignored by Spark.
  A table whose columns or location differ from the declaration (the raw layer's schema
  changed, or REDCAT_RAW_DIR moved) is dropped and declared anew; dropping an external table
  leaves its files alone.
  On DuckDB the sources read the files directly (meta.external_location); nothing to do.
-#}
{% macro create_raw_tables() -%}
    {{ return(adapter.dispatch('create_raw_tables', 'redcat')()) }}
{%- endmacro %}

{% macro duckdb__create_raw_tables() -%}
{%- endmacro %}

{% macro default__create_raw_tables() -%}
    {%- if execute -%}
        {%- set raw_dir = raw_dir_uri() -%}
        {%- set sources = graph.sources.values() | selectattr('package_name', 'equalto', project_name) | sort(attribute='unique_id') -%}
        {%- for schema in sources | map(attribute='schema') | unique -%}
            {%- do run_query('create schema if not exists ' ~ schema) -%}
            {%- set existing = run_query('show tables in ' ~ schema).columns['tableName'].values() | map('lower') | list -%}
            {%- for node in sources | selectattr('schema', 'equalto', schema) -%}
                {%- do create_raw_table(node, raw_dir, node.identifier | lower in existing) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- The Spark macros (macros/cross_db.sql) read time stamps as UTC instants in a UTC session:
    a cluster whose session time zone is something else would shift every business date. -#}
{% macro assert_utc_session() -%}
    {{ return(adapter.dispatch('assert_utc_session', 'redcat')()) }}
{%- endmacro %}

{% macro duckdb__assert_utc_session() -%}
{%- endmacro %}

{% macro default__assert_utc_session() -%}
    {%- if execute -%}
        {%- set zone = run_query('select current_timezone()').columns[0].values()[0] -%}
        {%- if zone not in ('UTC', 'Etc/UTC', 'Z', '+00:00', 'GMT') -%}
            {{ exceptions.raise_compiler_error(
                "The Spark session time zone is " ~ zone ~ ", not UTC. redcat's Spark SQL converts UTC instants to "
                ~ "Asia/Shanghai business dates and relies on a UTC session: set spark.sql.session.timeZone: UTC "
                ~ "in the profile's server_side_parameters (or the cluster's Spark config).") }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- REDCAT_RAW_DIR as the tables' LOCATION: it is stored in the metastore and read by executors
    that do not share dbt's working directory, so it must be absolute (a path or a URI). -#}
{% macro raw_dir_uri() -%}
    {%- set raw_dir = env_var('REDCAT_RAW_DIR', '') | trim -%}
    {%- if not raw_dir -%}
        {{ exceptions.raise_compiler_error(
            "REDCAT_RAW_DIR is not set. On Spark the raw layer is read as external tables: set it to the absolute "
            ~ "path or URI of the raw layer ingestion wrote, e.g. /data/redcat/raw or s3://bucket/redcat/raw.") }}
    {%- endif -%}
    {%- if not (raw_dir.startswith('/') or modules.re.match('^[A-Za-z][A-Za-z0-9+.-]*:', raw_dir)) -%}
        {{ exceptions.raise_compiler_error(
            "REDCAT_RAW_DIR=" ~ raw_dir ~ " is relative. On Spark it becomes the LOCATION of external tables, "
            ~ "resolved by the metastore and the executors, not by dbt: give an absolute path or a URI.") }}
    {%- endif -%}
    {{- return(raw_dir.rstrip('/')) -}}
{%- endmacro %}

{% macro create_raw_table(node, raw_dir, exists) -%}
    {%- set meta = node.meta or {} -%}
    {%- set relation = node.schema ~ '.' ~ node.identifier -%}
    {%- if not meta.get('raw_path') -%}
        {{ exceptions.raise_compiler_error(
            "source " ~ node.source_name ~ "." ~ node.name ~ " has no meta.raw_path: say where its files lie under "
            ~ "REDCAT_RAW_DIR (models/staging/_sources.yml), so Spark can read it as an external table.") }}
    {%- endif -%}
    {%- set columns = node.columns.values() | list -%}
    {%- set untyped = columns | rejectattr('data_type') | map(attribute='name') | list -%}
    {%- if not columns or untyped -%}
        {{ exceptions.raise_compiler_error(
            "source " ~ node.source_name ~ "." ~ node.name ~ " needs every column with its data_type in "
            ~ "models/staging/_sources.yml to become a Spark table" ~ (" (untyped: " ~ untyped | join(', ') ~ ")" if untyped else "")) }}
    {%- endif -%}
    {%- set location = raw_dir ~ '/' ~ meta['raw_path'] | replace('{name}', node.name) -%}
    {%- set partitions = meta.get('raw_partitions') or [] -%}
    {%- if location.endswith('.parquet') -%}
        {%- if partitions -%}
            {{ exceptions.raise_compiler_error("source " ~ node.source_name ~ "." ~ node.name ~ " is one file (" ~ location ~ "): it cannot have raw_partitions") }}
        {%- endif -%}
        {%- call statement('create_raw_view') -%}
            create or replace view {{ relation }} as
            select
                {%- for column in columns %}
                cast({{ column.name }} as {{ column.data_type }}) as {{ column.name }}{{ ',' if not loop.last }}
                {%- endfor %}
            from parquet.`{{ location }}`
        {%- endcall -%}
        {{ return('') }}
    {%- endif -%}
    {%- set declared = [] -%}
    {%- for column in columns -%}
        {%- do declared.append((column.name | lower, column.data_type | lower | replace(' ', ''))) -%}
    {%- endfor -%}
    {%- for partition in partitions -%}
        {%- do declared.append((partition.name | lower, partition.data_type | lower)) -%}
    {%- endfor -%}
    {%- if exists -%}
        {#- describe table extended: the columns, a blank line or '# ...' sections, then Location -#}
        {%- set found = namespace(columns=[], in_columns=true, location=none) -%}
        {%- for row in run_query('describe table extended ' ~ relation).rows -%}
            {%- set name = (row[0] or '') | trim -%}
            {%- if name == '' or name.startswith('#') -%}
                {%- set found.in_columns = false -%}
            {%- elif found.in_columns -%}
                {%- do found.columns.append((name | lower, (row[1] or '') | lower | replace(' ', ''))) -%}
            {%- elif name == 'Location' -%}
                {%- set found.location = (row[1] or '') | trim -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if found.columns != declared or found.location not in (location, 'file:' ~ location) -%}
            {{- log("Spark source " ~ relation ~ " is declared anew: "
                    ~ ("its columns differ from _sources.yml" if found.columns != declared else "it pointed at " ~ found.location), info=true) -}}
            {%- do run_query('drop table ' ~ relation) -%}
            {%- set exists = false -%}
        {%- endif -%}
    {%- endif -%}
    {%- if not exists -%}
        {%- call statement('create_raw_table') -%}
            create table {{ relation }} (
                {%- for column in columns %}
                {{ column.name }} {{ column.data_type }}{{ ',' if partitions or not loop.last }}
                {%- endfor %}
                {%- for partition in partitions %}
                {{ partition.name }} {{ partition.data_type }}{{ ',' if not loop.last }}
                {%- endfor %}
            )
            using parquet
            {%- if partitions %}
            partitioned by ({{ partitions | map(attribute='name') | join(', ') }})
            {%- endif %}
            location '{{ location }}'
        {%- endcall -%}
    {%- endif -%}
    {%- if partitions -%}
        {%- do run_query('alter table ' ~ relation ~ ' recover partitions') -%}
    {%- endif -%}
    {%- do run_query('refresh table ' ~ relation) -%}
{%- endmacro %}
