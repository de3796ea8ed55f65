"""SIP/RTP through pjsua2: endpoint, accounts, calls and media ports."""
