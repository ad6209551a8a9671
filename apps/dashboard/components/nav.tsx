"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";

// Only pages that exist are linked; Sweeps and Runners join this list when their pages land.
const NAV_ITEMS: ReadonlyArray<{ href: string; label: string }> = [{ href: "/", label: "Status" }];

export function Nav() {
  const pathname = usePathname();
  return (
    <nav aria-label="Main">
      <ul className="nav-list">
        {NAV_ITEMS.map((item) => {
          const current = item.href === "/" ? pathname === "/" : pathname.startsWith(item.href);
          return (
            <li key={item.href}>
              <Link href={item.href} aria-current={current ? "page" : undefined} className="nav-link">
                {item.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
