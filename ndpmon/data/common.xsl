<?xml version="1.0" encoding="UTF-8"?>
<!--
  common.xsl: what every page of ndpmon's web report shares (included by
  config.xsl, neighbor.xsl, alerts.xsl and index.xsl): the page frame with its
  style sheet and menu, the row filter, and small formatters.

  Data from the files is only ever written with xsl:value-of or attribute value
  templates, never with disable-output-escaping, and never inside <script> or
  <style> (whose text HTML does not escape): a hostile file cannot inject markup.

  The r: attributes (namespace urn:ndpmon:report) are added by ndpmon/commands/report.py
  before the transform: epoch times as readable dates, a neighbour's first sight.
  Without them (a browser applying a stylesheet to the XML file) the raw values
  are shown.
-->
<xsl:stylesheet version="1.0"
                xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:r="urn:ndpmon:report"
                exclude-result-prefixes="r">

  <xsl:output method="html" encoding="UTF-8" indent="no"
              doctype-system="about:legacy-compat"/>

  <!-- When the report was made, and in which time zone its dates are. -->
  <xsl:param name="generated" select="''"/>
  <xsl:param name="timezone" select="''"/>

  <!-- The whole page: title, menu, the body (each page's template for "/" in mode
       "body", applied in place rather than passed as a copied tree fragment), footer. -->
  <xsl:template name="page">
    <xsl:param name="title"/>
    <xsl:param name="current"/>
    <xsl:param name="script" select="true()"/>
    <html lang="en">
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>ndpmon: <xsl:value-of select="$title"/></title>
        <style>
body { font-family: sans-serif; margin: 0 1.5em 2em; color: #222; background: #fff; }
nav { margin: 0 -1.5em 1em; padding: .6em 1.5em; background: #234; }
nav a { color: #fff; margin-right: 1.5em; text-decoration: none; }
nav a.current { font-weight: bold; text-decoration: underline; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 1.5em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #bbb; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #e4e8ee; }
td.num { text-align: right; }
code, .mono { font-family: monospace, monospace; font-size: .95em; }
td.mono { overflow-wrap: anywhere; }
.nowrap { white-space: nowrap; overflow-wrap: normal; }
.muted { color: #777; }
.note { padding: .5em 1em; background: #eef4ff; border-left: 4px solid #48c; }
.router { border: 1px solid #ccc; padding: 0 1em; margin: 1em 0; }
tr.high td { background: #f8c8c8; }
tr.low td { background: #ffe7a8; }
td.prio { font-weight: bold; }
form#filter { margin: .5em 0; padding: .5em; background: #f4f4f4; }
figure.chart { margin: .5em 0; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figcaption { max-width: 50em; margin: .25em 0; }
details.numbers { margin: .25em 0 1em; }
footer { margin-top: 2em; font-size: .85em; color: #666; }
        </style>
      </head>
      <body>
        <nav>
          <xsl:call-template name="menu-link">
            <xsl:with-param name="href" select="'index.html'"/>
            <xsl:with-param name="text" select="'Overview'"/>
            <xsl:with-param name="current" select="$current"/>
          </xsl:call-template>
          <xsl:call-template name="menu-link">
            <xsl:with-param name="href" select="'config.html'"/>
            <xsl:with-param name="text" select="'Routers'"/>
            <xsl:with-param name="current" select="$current"/>
          </xsl:call-template>
          <xsl:call-template name="menu-link">
            <xsl:with-param name="href" select="'neighbors.html'"/>
            <xsl:with-param name="text" select="'Neighbours'"/>
            <xsl:with-param name="current" select="$current"/>
          </xsl:call-template>
          <xsl:call-template name="menu-link">
            <xsl:with-param name="href" select="'alerts.html'"/>
            <xsl:with-param name="text" select="'Alerts'"/>
            <xsl:with-param name="current" select="$current"/>
          </xsl:call-template>
        </nav>
        <h1><xsl:value-of select="$title"/></h1>
        <xsl:apply-templates select="/" mode="body"/>
        <footer>
          <xsl:text>Made by ndpmon</xsl:text>
          <xsl:if test="$generated != ''">
            <xsl:text> on </xsl:text><xsl:value-of select="$generated"/>
          </xsl:if>
          <xsl:if test="$timezone != ''">
            <xsl:text>; times are the monitor's local time (</xsl:text>
            <xsl:value-of select="$timezone"/><xsl:text>)</xsl:text>
          </xsl:if>
          <xsl:text>.</xsl:text>
        </footer>
        <xsl:if test="$script"><xsl:call-template name="filter-script"/></xsl:if>
      </body>
    </html>
  </xsl:template>

  <xsl:template name="menu-link">
    <xsl:param name="href"/>
    <xsl:param name="text"/>
    <xsl:param name="current"/>
    <a href="{$href}">
      <xsl:if test="$href = $current"><xsl:attribute name="class">current</xsl:attribute></xsl:if>
      <xsl:value-of select="$text"/>
    </a>
  </xsl:template>

  <!--
    The filter form (and its script: a page without the form, the overview, passes
    script false() to "page" and has none): hidden until the script shows it, so a browser without
    JavaScript shows every row and no dead controls.  Rows to filter are
    <tr data-row="...">; a row with data-priority="high|low" also obeys the
    priority menu.
  -->
  <xsl:template name="filter-form">
    <xsl:param name="priority" select="false()"/>
    <form id="filter" hidden="hidden" onsubmit="return false">
      <label>Show rows containing <input type="search" name="q" size="30"/></label>
      <xsl:if test="$priority">
        <xsl:text> </xsl:text>
        <label>priority <select name="priority">
          <option value="">any</option>
          <option value="high">high</option>
          <option value="low">low</option>
        </select></label>
      </xsl:if>
      <xsl:text> </xsl:text>
      <output id="shown"/>
    </form>
  </xsl:template>

  <!--
    The filter: reads its start values from the address's fragment
    (alerts.html#wrong%20prefix, or #q=wrong+prefix&priority=high) and writes
    them back there, so a filtered view can be bookmarked.
  -->
  <xsl:template name="filter-script">
    <script>
(function () {
  "use strict";
  var form = document.getElementById("filter");
  if (!form) { return; }
  var q = form.elements.q, prio = form.elements.priority;
  var rows = document.querySelectorAll("tr[data-row]");
  var texts = [];
  for (var i = 0; i &lt; rows.length; i++) { texts.push(rows[i].textContent.toLowerCase()); }
  function fromHash() {
    var raw = location.hash.slice(1), params;
    if (raw.indexOf("=") &lt; 0) {
      try { raw = decodeURIComponent(raw); } catch (e) { /* keep it as it is */ }
      params = new URLSearchParams(); params.set("q", raw);
    } else {
      params = new URLSearchParams(raw);
    }
    q.value = params.get("q") || "";
    if (prio) { prio.value = params.get("priority") || ""; }
  }
  function apply(save) {
    var needle = q.value.trim().toLowerCase(), level = prio ? prio.value : "", shown = 0;
    for (var i = 0; i &lt; rows.length; i++) {
      var ok = texts[i].indexOf(needle) &gt;= 0 &amp;&amp;
               (!level || rows[i].getAttribute("data-priority") === level);
      rows[i].style.display = ok ? "" : "none";
      if (ok) { shown++; }
    }
    document.getElementById("shown").textContent = shown + " of " + rows.length + " shown";
    if (save) {
      var params = new URLSearchParams();
      if (q.value) { params.set("q", q.value); }
      if (level) { params.set("priority", level); }
      var hash = params.toString();
      history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
    }
  }
  form.hidden = false;
  fromHash();
  apply(false);
  q.addEventListener("input", function () { apply(true); });
  if (prio) { prio.addEventListener("change", function () { apply(true); }); }
  window.addEventListener("hashchange", function () { fromHash(); apply(false); });
})();
    </script>
  </xsl:template>

  <!-- A readable date: the r:when-style attribute if ndpmon/commands/report.py added it, else the raw value. -->
  <xsl:template name="when">
    <xsl:param name="readable"/>
    <xsl:param name="raw"/>
    <xsl:choose>
      <xsl:when test="string($readable) != ''"><xsl:value-of select="$readable"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="$raw"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- Seconds as "2592000 s (30 d)"; 4294967295 is "infinity" (RFC 4861 §4.6.2). -->
  <xsl:template name="seconds">
    <xsl:param name="value" select="."/>
    <xsl:variable name="n" select="number($value)"/>
    <xsl:value-of select="$value"/>
    <xsl:choose>
      <xsl:when test="string($n) = 'NaN'"/>
      <xsl:when test="$n = 4294967295"> (infinity)</xsl:when>
      <xsl:when test="$n &gt;= 86400 and $n mod 86400 = 0"> s (<xsl:value-of select="$n div 86400"/> d)</xsl:when>
      <xsl:when test="$n &gt;= 3600 and $n mod 3600 = 0"> s (<xsl:value-of select="$n div 3600"/> h)</xsl:when>
      <xsl:when test="$n &gt;= 60 and $n mod 60 = 0"> s (<xsl:value-of select="$n div 60"/> min)</xsl:when>
      <xsl:otherwise> s</xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!--
    A flags byte with the names of its two top bits set: "192 (L A)" for a
    prefix (RFC 4861 §4.6.2), "64 (O)" for an RA (M, O: §4.2).
  -->
  <xsl:template name="flags">
    <xsl:param name="value" select="."/>
    <xsl:param name="high"/>
    <xsl:param name="next"/>
    <xsl:variable name="n" select="number($value)"/>
    <xsl:value-of select="$value"/>
    <xsl:if test="string($n) != 'NaN' and $n &gt;= 64">
      <xsl:text> (</xsl:text>
      <xsl:if test="floor($n div 128) mod 2 = 1"><xsl:value-of select="$high"/></xsl:if>
      <xsl:if test="floor($n div 128) mod 2 = 1 and floor($n div 64) mod 2 = 1"><xsl:text> </xsl:text></xsl:if>
      <xsl:if test="floor($n div 64) mod 2 = 1"><xsl:value-of select="$next"/></xsl:if>
      <xsl:text>)</xsl:text>
    </xsl:if>
  </xsl:template>

  <!-- "1 router", "2 routers". -->
  <xsl:template name="count">
    <xsl:param name="n"/>
    <xsl:param name="one"/>
    <xsl:param name="many" select="concat($one, 's')"/>
    <xsl:value-of select="$n"/>
    <xsl:text> </xsl:text>
    <xsl:choose>
      <xsl:when test="$n = 1"><xsl:value-of select="$one"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="$many"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- "–" for the placeholders NDPMon writes when a value is absent. -->
  <xsl:template name="or-dash">
    <xsl:param name="value"/>
    <xsl:choose>
      <xsl:when test="string($value) = '' or $value = '0:0:0:0:0:0' or $value = '::'">
        <span class="muted">–</span>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$value"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

</xsl:stylesheet>
