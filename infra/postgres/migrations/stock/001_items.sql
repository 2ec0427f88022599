-- Amounts are whole units kept within JavaScript's safe integers, so every reply is exact.
create table items (
  item_id text primary key,
  price bigint not null check (price between 0 and 9007199254740991),
  stock bigint not null check (stock between 0 and 9007199254740991)
);
