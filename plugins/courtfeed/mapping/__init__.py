"""Mapping: turning staged rows into typed records of the target's entities.

``records`` builds the records of a batch of rows, ``convert`` converts one field over a whole
column, ``parsers`` reads single values (dates, times, phones, amounts, names) where no Arrow
kernel does, and ``storable`` finds values the target could not store.
"""
