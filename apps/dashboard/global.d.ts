// Next's ambient types (CSS modules, images), available to `tsc` even before the first build writes next-env.d.ts.
/// <reference types="next" />
/// <reference types="next/image-types/global" />
