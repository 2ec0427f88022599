-- What prepares hold in escrow, kept on the user beside the credit free to spend. An addition is
-- capped by both together, so giving a reservation back (a rollback) can never push the user
-- past the largest amount: a decision can never fail on data.
alter table users add column held bigint not null default 0;

update users set held = reserved.amount
from (
  select held ->> 'userId' as user_id, sum((held ->> 'amount')::bigint) as amount
  from participations
  where state = 'prepared'
  group by 1
) as reserved
where users.user_id = reserved.user_id;

-- Before this version an addition could race a checkout and leave no room to give its
-- reservation back; such a row cannot be decided for the machine, so the upgrade names it.
do $$
declare
  over text;
begin
  select string_agg(user_id, ', ') into over
  from (select user_id from users where credit + held > 9007199254740991 limit 10) as rows;
  if over is not null then
    raise exception 'users % would exceed 9007199254740991 once what checkouts hold comes back (an addition raced a checkout before this version): lower their credit by hand, then start again', over;
  end if;
end $$;

alter table users
  drop constraint users_credit_check,
  add constraint users_credit_check check (credit >= 0 and held >= 0 and credit + held <= 9007199254740991);
