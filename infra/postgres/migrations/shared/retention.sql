-- Records of finished transactions are deleted once past the retention window, oldest first.
create index participations_settled on participations (updated_at) where state <> 'prepared';
