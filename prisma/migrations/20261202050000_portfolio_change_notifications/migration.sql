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

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['VolumeChange', 'TransitionPlan', 'TransitionPhase', 'GateEvaluation', 'Review',
                           'Escalation', 'ExitPlan', 'ExitStep'] LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION "notify_portfolio_changed"()', t || '_portfolio_changed', t);
  END LOOP;
END;
$$;
