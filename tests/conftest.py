"""Project-wide test configuration; each area keeps its own fixtures in tests/<area>/conftest.py."""
