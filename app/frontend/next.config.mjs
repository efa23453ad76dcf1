/** @type {import('next').NextConfig} */
const nextConfig = {
  // A self-contained server (.next/standalone/server.js) with only the node_modules it traces.
  output: "standalone",
  poweredByHeader: false,
  reactStrictMode: true,
  // No image optimisation: the app serves no images through next/image, so sharp/libvips
  // (about 33 MB under @img) would be dead weight in the image.
  images: { unoptimized: true },
  // next lists sharp as an optional dependency, so npm installs it; keep it out of the trace.
  outputFileTracingExcludes: {
    "*": ["node_modules/sharp/**", "node_modules/@img/**"],
  },
};

export default nextConfig;
