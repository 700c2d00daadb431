/** The languages the hosted pages speak (the seeds' SMS OTP UI languages); English first, the fallback. */
export const LANGUAGES = ['en', 'da', 'nl', 'fi', 'el', 'no', 'sv'] as const;
export type Language = (typeof LANGUAGES)[number];
