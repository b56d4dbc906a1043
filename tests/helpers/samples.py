"""The sample template and job the repository ships (templates/), as tests use them."""

from docrender.settings import PROJECT_ROOT

SAMPLE_TEMPLATE = PROJECT_ROOT / "templates" / "report.docx"
SAMPLE_JOB = PROJECT_ROOT / "templates" / "report-job.json"
