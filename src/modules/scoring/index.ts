/**
 * PQL scoring: usage · fit · behavior as versioned configuration (default: PRODUCT.md section 1),
 * signal decay, explanations, history, fit at signup through enrichment, per-event freshness,
 * threshold crossings into the outbox (`score.threshold_crossed`), and backtests against real
 * conversions. The event vocabulary it reads is documented in docs/EVENTS.md.
 */
export * from './scoring.ts';
export { scheduleRescore, RESCORE_DELAY_MS } from './schedule.ts';
export { registerScoring, sweep, flushDirty } from './register.ts';
export { activateModel, createModel, ensureModels, getModel, listModels, modelView, updateModel, validateConfig, type CreateModelInput } from './models.service.ts';
export { getAccountScore, rescore, scoreHistory, type RescoreStats, type ScoreView } from './scoring.service.ts';
export { createBacktest, getBacktest, replay, cutoffs, MAX_CUTOFFS, type Backtest, type BacktestParams, type ModelReport } from './backtest.service.ts';
export { OUTCOMES, loadOutcomes, type Outcome, type OutcomeEvent } from './outcomes.ts';
export { refreshFirmographics, mergeFirmographics } from './firmographics.service.ts';
export { enrich, firmographicsProvider, useFirmographicsProvider, SAMPLE_DATASET, DEFAULT_TTL_DAYS, type CompanyProfile, type FirmographicsProvider } from './enrichment/provider.ts';
export { LocalDatasetProvider, parseDataset } from './enrichment/local-dataset.ts';
export { accountsSql, countsSql, distinctSql, measure, measureBulk } from './scoring.sql.ts';
export { aggregateSpecs, evaluate, eventRaw, enterpriseIndicators, levelOf, samePoints, type AggValue, type Aggregates, type AggregateSpec } from './compute/score.ts';
export { bandPoints, clamp, decayFactor, linearPoints, matchPoints, rawPoints, roundTo, signalPoints, weightedTotal } from './compute/points.ts';
export { explainContribution, explainScore, formatNumber, renderTemplate, windowPhrase, type Explanation } from './compute/explain.ts';
export { accuracyReport, atThreshold, auc, calibration, liftByDecile, type AccuracyReport, type Observation } from './compute/metrics.ts';
