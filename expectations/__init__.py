"""Data-quality rules (Great Expectations), the dq.issue record, and supervisors' alerts."""
