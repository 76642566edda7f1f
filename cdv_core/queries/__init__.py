"""Read models for the pages: functions taking a cursor first and returning Polars frames or values.

Each figure is computed in exactly one function here; pages, exports and the live mode call it.
Parameters are always bound (`$name`), never formatted into SQL.
"""
