-- Reserved: another branch ships migration 0014 at the same time. This stand-in keeps
-- the numbers without gaps until the merge, which replaces it with that one (the
-- migrator refuses two files numbered 0014, so it cannot be missed).

SELECT 1;
