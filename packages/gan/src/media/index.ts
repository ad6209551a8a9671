export { encodeGridPng, encodeInterpolationStrip, encodeUint8GridPng, layoutGrid, toByte, type GridOptions, type RgbImage } from "./grid.ts";
export { encodeTimelapseGif, pickFrames, type TimelapseOptions } from "./gif.ts";
