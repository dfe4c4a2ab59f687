-- The inbox is the service's, whatever the Kafka consumer group (CONSUMER_GROUP): shared_events.consumer looks
-- events up under the service's name. Rows an earlier version recorded under a group's name (a TOPIC_PREFIX, a
-- group override) move to it, so that a new group or a redelivery still finds every event already applied.
DELETE FROM inbox o WHERE o.consumer <> 'scheduler-service'
    AND EXISTS (SELECT 1 FROM inbox s WHERE s.consumer = 'scheduler-service' AND s.event_id = o.event_id);
DELETE FROM inbox o WHERE o.consumer <> 'scheduler-service' AND EXISTS (
    SELECT 1 FROM inbox d WHERE d.consumer <> 'scheduler-service' AND d.event_id = o.event_id
        AND (d.outcome, d.consumer) < (o.outcome, o.consumer));
UPDATE inbox SET consumer = 'scheduler-service' WHERE consumer <> 'scheduler-service';
