-- Every change to the tables GET /portfolio reads beyond an engagement's own facts (volume, transition phases and
-- gates, reviews, escalations, exit steps) is announced on the channel "portfolio_changed" when its transaction
-- commits. API processes LISTEN to it (src/api/engagement-changes.ts) and read the portfolio's facts again; while
-- they hear nothing, they reuse what they read. Changes to engagements and vendors come on "engagement_changed".
-- One notification per statement: PostgreSQL folds repeats within a transaction.

CREATE FUNCTION "notify_portfolio_changed"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('portfolio_changed', '');
  RETURN NULL;
END;
$$;

CREATE TRIGGER "VolumeChange_portfolio_changed" AFTER INSERT OR UPDATE OR DELETE ON "VolumeChange"
  FOR EACH STATEMENT EXECUTE FUNCTION "notify_portfolio_changed"();
CREATE TRIGGER "TransitionPlan_portfolio_changed" AFTER INSERT OR UPDATE OR DELETE ON "TransitionPlan"
  FOR EACH STATEMENT EXECUTE FUNCTION "notify_portfolio_changed"();
CREATE TRIGGER "TransitionPhase_portfolio_changed" AFTER INSERT OR UPDATE OR DELETE ON "TransitionPhase"
  FOR EACH STATEMENT EXECUTE FUNCTION "notify_portfolio_changed"();
CREATE TRIGGER "GateEvaluation_portfolio_changed" AFTER INSERT OR UPDATE OR DELETE ON "GateEvaluation"
  FOR EACH STATEMENT EXECUTE FUNCTION "notify_portfolio_changed"();
CREATE TRIGGER "Review_portfolio_changed" AFTER INSERT OR UPDATE OR DELETE ON "Review"
  FOR EACH STATEMENT EXECUTE FUNCTION "notify_portfolio_changed"();
CREATE TRIGGER "Escalation_portfolio_changed" AFTER INSERT OR UPDATE OR DELETE ON "Escalation"
  FOR EACH STATEMENT EXECUTE FUNCTION "notify_portfolio_changed"();
CREATE TRIGGER "ExitPlan_portfolio_changed" AFTER INSERT OR UPDATE OR DELETE ON "ExitPlan"
  FOR EACH STATEMENT EXECUTE FUNCTION "notify_portfolio_changed"();
CREATE TRIGGER "ExitStep_portfolio_changed" AFTER INSERT OR UPDATE OR DELETE ON "ExitStep"
  FOR EACH STATEMENT EXECUTE FUNCTION "notify_portfolio_changed"();
