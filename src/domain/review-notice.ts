import type { ReviewCadence } from './types';

/** What a review's notice says: the period, its score and credits, and its breaches. */
export interface ReviewSummary {
  reviewId: string;
  cadence: ReviewCadence;
  periodFrom: string;
  periodTo: string;
  overallScore: number | null;
  creditsTotal: string;
  breaches: Array<{ key: string; status: 'breached' | 'missing' }>;
}

/** The notice that publishes a review's scorecard to the governance council, once per review (its event key). */
export function reviewNotice(engagementId: string, review: ReviewSummary) {
  return {
    eventKey: `review/${review.reviewId}`,
    engagementId,
    recipient: { role: 'governance council' },
    subject: `${review.cadence.toLowerCase()} review ${review.periodFrom} – ${review.periodTo}: score ${review.overallScore ?? 'n/a'}, credits ${review.creditsTotal}`,
    body: review.breaches.length
      ? `Breaches: ${review.breaches.map((b) => `${b.key} (${b.status})`).join(', ')}. Action items were created.`
      : 'Every scored KPI met its minimum.',
    data: { reviewId: review.reviewId },
  };
}
