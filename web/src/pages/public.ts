// The pages anyone may open without signing in (the region's problems on a map, the
// authorities' scorecards and the open data), loaded as one chunk on first visit.

export { RegionMap } from "./region-map";
export { ScorecardsPage } from "./scorecards";
