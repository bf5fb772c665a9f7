-- Snowflake types, casts and the functions users reach for first.
create database d4;
create table ty (n number(12,3), f float, b boolean, d date, ts timestamp_ntz, v variant);
insert into ty select 1.5, 2.25, true, '2024-02-29', '2024-01-02 03:04:05.123', parse_json('{"a": {"b": [10, 20]}, "s": "txt"}');
select n, f, b, d, ts from ty;
select v:a.b[1], v:s::string, v['s'], get_path(v, 'a.b[0]') from ty;
select '42'::int, 42::string, '2024-01-31'::date, 3.7::int, cast('1.25' as number(5,2));
select 'abc'::int;
select try_cast('abc' as int), try_to_number('12');
select iff(1 > 2, 'yes', 'no'), nvl(null, 'd'), nvl2(1, 'a', 'b'), coalesce(null, null, 3), decode(2, 1, 'one', 2, 'two', 'other');
select dateadd(month, 1, '2024-01-31'::date), dateadd('day', -1, '2024-03-01'::date), datediff(year, '2020-12-31'::date, '2021-01-01'::date);
select datediff('second', '2024-01-01 00:00:00'::timestamp_ntz, '2024-01-01 00:01:30'::timestamp_ntz), date_trunc('month', '2024-05-17'::date);
select to_varchar(12.5::float), to_char('2024-01-02'::date, 'YYYY/MM/DD'), to_number('1,234', '9,999'), to_date('2024-03-04'), to_timestamp('2024-03-04 05:06:07');
select parse_json('[1,2,3]'), array_size(parse_json('[1,2,3]')), object_construct('a', 1, 'b', null, 'c', 'x'), array_construct(1, 'two', null);
select split('a,b,c', ','), regexp_replace('a1b22c', '[0-9]+', '#'), regexp_substr('key=val', '=(.*)', 1, 1, 'e', 1), regexp_like('abc', 'a.c'), regexp_count('aaa', 'a');
select length(uuid_string()), uniform(1, 10, 42) between 1 and 10, typeof(parse_json('1.5'));
select parse_json('{"snow.service.name": "SVC", "snow": {"service": 1}}'):"snow.service.name"::string as quoted, parse_json('{"snow": {"service": 1}}'):snow.service as dotted;
select count(*) from (select parse_json('{"k": "v", "n": 2}') as o) where o:k = 'v' and o:"k" <> 'w' and 'v' = o:k;
select upper(parse_json('{"n": "echo_service"}'):n) as u, length(parse_json('{"n": "abc"}'):n) as l;
select 1 / 0;

-- TO_BINARY: HEX (default), BASE64 and UTF-8; TRY_TO_BINARY gives NULL for what TO_BINARY refuses.
SELECT to_varchar(to_binary('00FEab')), to_varchar(to_binary('aGVsbG8=', 'BASE64'), 'UTF-8'), to_varchar(to_binary('hi', 'UTF-8')), try_to_binary('0G') IS NULL;
SELECT to_binary('ABC');
