-- Indexes for the look-backs detectors ask for (fanzha.engine.protocol.Lookup) and for
-- Store.find_events: 12381 looks back over calls and SMS of a confirmed number
-- (detectors/fraud_contact.py), mule detection over the transfers of an account or a transfer id
-- (detectors/mule_account.py), `fanzha funds` over a case, `fanzha intel` over reports.
-- A detector that looks up a new field adds a migration with its index.

CREATE INDEX ev_call_caller ON ev_call (caller);
CREATE INDEX ev_call_callee ON ev_call (callee);
CREATE INDEX ev_sms_sender ON ev_sms (sender);
CREATE INDEX ev_sms_receiver ON ev_sms (receiver);
CREATE INDEX ev_transfer_payer ON ev_transfer (payer_account);
CREATE INDEX ev_transfer_payee ON ev_transfer (payee_account);
CREATE INDEX ev_transfer_id ON ev_transfer (transfer_id);
CREATE INDEX ev_case_id ON ev_case (case_id);
CREATE INDEX ev_report_target ON ev_report (target_value);
