-- Every change to what GET /engagements/:id shows is announced on the channel "engagement_changed", with the
-- engagement's id as the payload, when its transaction commits. API processes LISTEN to it and drop their cached
-- copy of that engagement (src/api/engagement-changes.ts): a cached detail stays valid until it changes, whichever
-- process, workflow activity or SQL session changed it. PostgreSQL folds repeats of one id within a transaction.

CREATE FUNCTION "notify_engagement_changed"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  changed RECORD;
BEGIN
  IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
  CASE TG_TABLE_NAME
    WHEN 'Engagement' THEN
      PERFORM pg_notify('engagement_changed', changed."id"::text);
    WHEN 'ServiceCreditTier' THEN
      PERFORM pg_notify('engagement_changed', s."engagementId"::text) FROM "Sla" s WHERE s."id" = changed."slaId";
    WHEN 'Vendor' THEN
      -- A vendor's name and delivery model are part of each of its engagements.
      PERFORM pg_notify('engagement_changed', e."id"::text) FROM "Engagement" e WHERE e."vendorId" = changed."id";
    ELSE
      PERFORM pg_notify('engagement_changed', changed."engagementId"::text);
  END CASE;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "Engagement_changed" AFTER INSERT OR UPDATE OR DELETE ON "Engagement"
  FOR EACH ROW EXECUTE FUNCTION "notify_engagement_changed"();
CREATE TRIGGER "Vendor_changed" AFTER UPDATE ON "Vendor"
  FOR EACH ROW EXECUTE FUNCTION "notify_engagement_changed"();
CREATE TRIGGER "Sla_changed" AFTER INSERT OR UPDATE OR DELETE ON "Sla"
  FOR EACH ROW EXECUTE FUNCTION "notify_engagement_changed"();
CREATE TRIGGER "ServiceCreditTier_changed" AFTER INSERT OR UPDATE OR DELETE ON "ServiceCreditTier"
  FOR EACH ROW EXECUTE FUNCTION "notify_engagement_changed"();
CREATE TRIGGER "EscalationLevel_changed" AFTER INSERT OR UPDATE OR DELETE ON "EscalationLevel"
  FOR EACH ROW EXECUTE FUNCTION "notify_engagement_changed"();
CREATE TRIGGER "EscalationPolicy_changed" AFTER INSERT OR UPDATE OR DELETE ON "EscalationPolicy"
  FOR EACH ROW EXECUTE FUNCTION "notify_engagement_changed"();
CREATE TRIGGER "CouncilMember_changed" AFTER INSERT OR UPDATE OR DELETE ON "CouncilMember"
  FOR EACH ROW EXECUTE FUNCTION "notify_engagement_changed"();
