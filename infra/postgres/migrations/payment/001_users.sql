-- Credit is whole units kept within JavaScript's safe integers, so every reply is exact.
create table users (
  user_id text primary key,
  credit bigint not null check (credit between 0 and 9007199254740991)
);
