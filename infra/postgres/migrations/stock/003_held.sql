-- What prepares hold in escrow, kept on the item beside what is free to sell. An addition is
-- capped by both together, so giving a reservation back (a rollback) can never push the item past
-- the largest amount: a decision can never fail on data.
alter table items add column held bigint not null default 0;

update items set held = reserved.quantity
from (
  select line ->> 'itemId' as item_id, sum((line ->> 'quantity')::bigint) as quantity
  from participations, jsonb_array_elements(held) as line
  where state = 'prepared'
  group by 1
) as reserved
where items.item_id = reserved.item_id;

-- Before this version an addition could race a checkout and leave no room to give its
-- reservation back; such a row cannot be decided for the machine, so the upgrade names it.
do $$
declare
  over text;
begin
  select string_agg(item_id, ', ') into over
  from (select item_id from items where stock + held > 9007199254740991 limit 10) as rows;
  if over is not null then
    raise exception 'items % would exceed 9007199254740991 once what checkouts hold comes back (an addition raced a checkout before this version): lower their stock by hand, then start again', over;
  end if;
end $$;

alter table items
  drop constraint items_stock_check,
  add constraint items_stock_check check (stock >= 0 and held >= 0 and stock + held <= 9007199254740991);
