/** A refused field as problem+json's errors[] carries it, and the languages messages come in. */
export type Lang = 'en' | 'zh-CN';
export interface FieldError { path: string; code: string; message: string }
