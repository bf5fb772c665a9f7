-- INSERT, UPDATE (with FROM and subqueries), DELETE (with USING), MERGE, TRUNCATE.
create database d2;
create table emp (id int, dept int, salary number(10,2), name string);
insert into emp values (1, 10, 100, 'ann'), (2, 10, 200, 'bo'), (3, 20, 300, 'cy'), (4, 30, 400, 'di');
create table dept (id int, name string, bonus number(10,2));
insert into dept values (10, 'eng', 5), (20, 'ops', 7);
update emp set salary = salary + d.bonus from dept d where emp.dept = d.id;
select id, salary from emp order by id;
update emp set name = upper(name) where dept in (select id from dept where name = 'eng');
select id, name from emp order by id;
update emp set salary = 0 where exists (select 1 from dept where dept.id = emp.dept and dept.bonus > 6);
select id, salary from emp order by id;
delete from emp using dept where emp.dept = dept.id and dept.name = 'ops';
select id from emp order by id;
delete from emp where id not in (select id from emp where id < 4);
select id from emp order by id;
merge into emp e using (select 1 as id, 999 as salary union all select 7, 70) s on e.id = s.id
  when matched and s.salary > 500 then update set salary = s.salary
  when not matched then insert (id, dept, salary, name) values (s.id, 99, s.salary, 'new');
select id, dept, salary, name from emp order by id;
merge into emp e using (select id from emp where id = 7) s on e.id = s.id when matched then delete;
select id from emp order by id;
merge into emp e using (select 1 as id union all select 1) s on e.id = s.id when matched then update set salary = 1;
insert into emp (id, salary) values (10, 'abc');
insert into emp (id) select id + 100 from emp;
select count(*) from emp;
truncate table emp;
select count(*) from emp;
insert overwrite into dept values (30, 'new', 1);
select * from dept;
