"""Physical inspection: fixed steps per container with photos, findings, remote assistance.

Importing the area registers its step plan with the task area, so an inspection task opened by
anyone (clearance on the red lane, a review's `inspect`, an X-ray suspect) lists its steps.
"""

from smartcustoms.inspection.domain import plan as _plan
from smartcustoms.task.models import TaskKind as _TaskKind
from smartcustoms.task.service import STEP_PLANS as _STEP_PLANS

_STEP_PLANS[_TaskKind.inspection] = _plan
