"""The dates citygrid accepts, stated once (README, "Dates").

Incidents happen between the founding of the People's Republic (1949-10-01, Beijing time) and five minutes
from now (clock skew between a phone and the server). Dates in queries may range wider, 1900–2199: enough
for any filter, and far from the years PostgreSQL or Python cannot shift between UTC and UTC+8 (1 and 9999).
"""

from __future__ import annotations

import datetime as dt

from geo.localtime import CST

EARLIEST_INCIDENT = dt.datetime(1949, 10, 1, tzinfo=CST)
FUTURE_SLACK = dt.timedelta(minutes=5)
QUERY_YEARS = (1900, 2199)
