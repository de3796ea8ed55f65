"""Offline on-prem SIP voice agent appliance."""
