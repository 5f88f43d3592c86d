"""The shape every stage hands rows on in: Arrow tables of text cells and their row numbers.

A reader yields, and the read stage stages, one string column per source column (null for an
empty cell) plus ``ROW_COLUMN``: the row a person sees when opening the file in a spreadsheet
(title rows and the header count; a quoted field spanning lines is one row).
"""

ROW_COLUMN = "__row__"
