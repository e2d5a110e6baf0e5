"""Daily partitions: Asia/Shanghai delivery dates."""

import os

import dagster as dg

from redcat.timeutil import BUSINESS_TZ_NAME

# The first Taobao programme started on 2022-06-01 (seeds/callback_sampling_policy.csv).
PARTITIONS_START = os.environ.get("REDCAT_PARTITIONS_START", "2022-06-01")

daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone=BUSINESS_TZ_NAME)
