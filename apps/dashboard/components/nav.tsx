"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";

interface NavItem {
  href: string;
  label: string;
  /** Whether the page at `pathname` belongs to this item. */
  current(pathname: string): boolean;
}

const under = (prefix: string) => (pathname: string) => pathname === prefix || pathname.startsWith(`${prefix}/`);

// A sweep's own page and its runs sit under Sweeps; New sweep is its own item.
const NAV_ITEMS: readonly NavItem[] = [
  { href: "/", label: "Sweeps", current: (p) => p === "/" || (p.startsWith("/sweeps/") && p !== "/sweeps/new") },
  { href: "/sweeps/new", label: "New sweep", current: (p) => p === "/sweeps/new" },
  { href: "/compare", label: "Compare", current: under("/compare") },
  { href: "/runners", label: "Runners", current: under("/runners") },
  { href: "/status", label: "Status", current: under("/status") },
];

export function Nav() {
  const pathname = usePathname();
  return (
    <nav aria-label="Main">
      <ul className="nav-list">
        {NAV_ITEMS.map((item) => (
          <li key={item.href}>
            <Link href={item.href} aria-current={item.current(pathname) ? "page" : undefined} className="nav-link">
              {item.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
