import type { Metadata } from "next";
import "./globals.css";

export const metadata: Metadata = {
  title: "GoalTrajectory.AI",
  description: "Track goals and find related ones.",
};

export default function RootLayout({ children }: Readonly<{ children: React.ReactNode }>) {
  return (
    <html lang="en">
      <body>
        <header className="site-header">
          <a href="/goals">GoalTrajectory.AI</a>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
