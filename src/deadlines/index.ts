/** Pure due-date rules over the working-day calendar (spec §4 "Due dates"). */
export { WorkCalendar, loadWorkCalendar, type WorkdayData, type WorkdayYear } from './calendar';
export {
  declarationDueDate,
  directDueDate,
  dueOn,
  graceExpiry,
  isClosedLate,
  isOverdueAt,
  manualDueDate,
  settlementDueDate,
  type DueDate,
  type DueRule,
} from './due-dates';
export { DEFAULT_LOOP_PARAMS, type LoopParams } from './params';
export {
  AGEING_BUCKETS,
  ageOf,
  ageingBucket,
  ageingView,
  emptyAgeing,
  workingDaysPast,
  type Ageing,
  type AgeingBucket,
} from './ageing';
