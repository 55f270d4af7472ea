"""Supervisors' alert e-mails: routing, rendering (Chinese, masked), delivery."""
