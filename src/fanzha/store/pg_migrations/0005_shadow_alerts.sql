-- Shadow mode (fanzha.decide.shadow): what a candidate policy would have alerted on the live
-- stream, kept apart from the alerts that act.

CREATE TABLE shadow_alerts (LIKE alerts INCLUDING ALL);
