"""The one `Definitions` object of the redcat code location."""

import dagster as dg

defs = dg.Definitions(assets=[])
