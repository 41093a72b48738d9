<?xml version="1.0" encoding="UTF-8"?>
<!--
  index.xsl: the report's front page, from the small summary document that
  ndpmon/commands/report.py builds (<summary> with the counts and the source files,
  and the <chart>s of ndpmon/formats/charts.py: a heading, a caption, an <svg> drawn
  by ndpmon (copied as it is: lxml built it, escaping every text) and its numbers as
  table rows, or an <empty> note). The page has no script: the charts are SVG, their
  caption and table are the text alternative, read without SVG or JavaScript.
  Part of ndpmon's web report (ndpmon report); see common.xsl.
-->
<xsl:stylesheet version="1.0"
                xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:r="urn:ndpmon:report"
                xmlns:svg="http://www.w3.org/2000/svg"
                exclude-result-prefixes="r svg">

  <xsl:include href="common.xsl"/>

  <xsl:template match="/">
    <xsl:call-template name="page">
      <xsl:with-param name="title" select="'ndpmon report'"/>
      <xsl:with-param name="current" select="'index.html'"/>
      <xsl:with-param name="script" select="false()"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="/" mode="body">
<xsl:apply-templates select="summary"/>
  </xsl:template>

  <xsl:template match="summary">
    <p>What the IPv6 Neighbor Discovery monitor knows and has seen on its links.</p>
    <table class="overview">
      <thead><tr><th>Page</th><th>Shows</th><th>Made from</th></tr></thead>
      <tbody>
        <tr>
          <td><a href="config.html">Routers</a></td>
          <td>
            <xsl:call-template name="count">
              <xsl:with-param name="n" select="routers"/>
              <xsl:with-param name="one" select="'legitimate router'"/>
            </xsl:call-template>
            <xsl:text> with </xsl:text>
            <xsl:call-template name="count">
              <xsl:with-param name="n" select="prefixes"/>
              <xsl:with-param name="one" select="'prefix'"/>
              <xsl:with-param name="many" select="'prefixes'"/>
            </xsl:call-template>
            <xsl:text> on </xsl:text>
            <xsl:call-template name="count">
              <xsl:with-param name="n" select="probes"/>
              <xsl:with-param name="one" select="'probe'"/>
            </xsl:call-template>
            <xsl:text>; alert settings</xsl:text>
          </td>
          <td class="mono"><xsl:value-of select="config"/></td>
        </tr>
        <tr>
          <td><a href="neighbors.html">Neighbours</a></td>
          <td>
            <xsl:call-template name="count">
              <xsl:with-param name="n" select="neighbors"/>
              <xsl:with-param name="one" select="'neighbour'"/>
            </xsl:call-template>
          </td>
          <td class="mono"><xsl:value-of select="cache"/></td>
        </tr>
        <tr>
          <td><a href="alerts.html">Alerts</a></td>
          <td>
            <xsl:call-template name="count">
              <xsl:with-param name="n" select="alerts/@total"/>
              <xsl:with-param name="one" select="'alert'"/>
            </xsl:call-template>
            <xsl:text>: </xsl:text>
            <xsl:value-of select="alerts/@high"/><xsl:text> high, </xsl:text>
            <xsl:value-of select="alerts/@low"/><xsl:text> low priority</xsl:text>
            <xsl:if test="alerts/@latest != ''">
              <xsl:text>; the latest on </xsl:text><xsl:value-of select="alerts/@latest"/>
            </xsl:if>
          </td>
          <td class="mono"><xsl:value-of select="alerts"/></td>
        </tr>
      </tbody>
    </table>
    <xsl:if test="note != ''">
      <p class="note"><xsl:value-of select="note"/></p>
    </xsl:if>
    <xsl:apply-templates select="chart"/>
  </xsl:template>

  <!-- A chart: the SVG with its caption, and its numbers in a table (folded). -->
  <xsl:template match="chart">
    <section id="{@id}">
      <h2><xsl:value-of select="@heading"/></h2>
      <xsl:choose>
        <xsl:when test="empty">
          <p class="note"><xsl:value-of select="empty"/></p>
        </xsl:when>
        <xsl:otherwise>
          <figure class="chart">
            <xsl:copy-of select="svg:svg"/>
            <figcaption><xsl:value-of select="caption"/></figcaption>
          </figure>
          <details class="numbers">
            <summary>The numbers (bars that are not empty)</summary>
            <table>
              <thead><tr>
                <xsl:for-each select="columns/column"><th><xsl:value-of select="."/></th></xsl:for-each>
              </tr></thead>
              <tbody>
                <xsl:for-each select="row">
                  <tr>
                    <xsl:for-each select="cell">
                      <td>
                        <xsl:if test="position() &gt; 1"><xsl:attribute name="class">num</xsl:attribute></xsl:if>
                        <xsl:value-of select="."/>
                      </td>
                    </xsl:for-each>
                  </tr>
                </xsl:for-each>
              </tbody>
            </table>
          </details>
        </xsl:otherwise>
      </xsl:choose>
    </section>
  </xsl:template>

</xsl:stylesheet>
