"""Mapping: turning staged rows into typed records of the target's entities.

``records`` builds the records of a batch of rows, ``convert`` runs a field's steps over a whole
column, ``parsers`` reads single values (numbers, dates, times, phones, e-mail, yes/no) where no
Arrow kernel does, ``strptime`` reads text with strptime formats, ``names`` splits full names,
and ``storable`` finds values the target could not store.
"""
