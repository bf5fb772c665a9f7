-- SELECT features: CTEs, window functions, VALUES, GENERATOR, expressions and names.
create database d3;
create table s (g string, v int);
insert into s values ('a', 1), ('a', 2), ('b', 3), ('b', 4), ('b', 5);
with totals as (select g, sum(v) as total from s group by g) select * from totals order by g;
select g, v, row_number() over (partition by g order by v desc) as rn, sum(v) over (partition by g) as gsum from s order by g, v;
select $1, $2 from values (1, 'one'), (2, 'two');
select column1 + 1 from values (1), (2) order by 1;
select count(*), min(seq4()), max(seq4()) from table(generator(rowcount => 1000));
select count(*), max(v), 'lit', v + 1 from s group by v + 1 order by 1, 4 limit 2;
select g as grp, count(*) as n from s group by grp having count(*) > 2;
select * from s where v between 2 and 4 and g like 'b%' order by v;
select distinct g from s order by g;
select v from s order by v desc limit 2 offset 1;
select 1 + 1, 'x' || 'y', 10 / 4, 7 % 3, null is null;
