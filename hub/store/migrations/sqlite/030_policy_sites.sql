-- A device policy is shared by a group's devices of every site (site NULL)
-- or kept to the group's devices of one site. Versions stay numbered per
-- group across its sites, so (grp, version) still names one policy.
ALTER TABLE policies ADD COLUMN site TEXT;
