<?xml version="1.0" encoding="UTF-8"?>
<!--
  neighbor.xsl: the neighbour cache neighbor_list.xml (COMPATIBILITY.md §4.6) as one
  table per probe, most recently seen first: MAC with its vendor (written by
  the mac_resolv plugin), link-local and global addresses with first and last
  sight, the MACs the neighbour used before.
  Part of ndpmon's web report (ndpmon report); see common.xsl.
-->
<xsl:stylesheet version="1.0"
                xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:r="urn:ndpmon:report"
                exclude-result-prefixes="r">

  <xsl:include href="common.xsl"/>

  <xsl:template match="/">
    <xsl:call-template name="page">
      <xsl:with-param name="title" select="'Neighbours'"/>
      <xsl:with-param name="current" select="'neighbors.html'"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="/" mode="body">
    <p>
      <xsl:call-template name="count">
        <xsl:with-param name="n" select="count(neighbors/probe/neighbor)"/>
        <xsl:with-param name="one" select="'neighbour'"/>
      </xsl:call-template>
      <xsl:text> on </xsl:text>
      <xsl:call-template name="count">
        <xsl:with-param name="n" select="count(neighbors/probe)"/>
        <xsl:with-param name="one" select="'probe'"/>
      </xsl:call-template>
      <xsl:text>, most recently seen first.</xsl:text>
    </p>
    <xsl:if test="neighbors/probe/neighbor">
      <xsl:call-template name="filter-form"/>
    </xsl:if>
    <xsl:apply-templates select="neighbors/probe"/>
  </xsl:template>

  <xsl:template match="probe">
    <h2>
      <xsl:text>Probe </xsl:text><xsl:value-of select="@name"/>
      <xsl:if test="@mac and @mac != '0:0:0:0:0:0'">
        <xsl:text> </xsl:text>
        <span class="mono muted"><xsl:value-of select="@mac"/></span>
      </xsl:if>
    </h2>
    <xsl:if test="address">
      <p>
        <xsl:text>Its own addresses: </xsl:text>
        <xsl:for-each select="address">
          <xsl:if test="position() &gt; 1">, </xsl:if>
          <span class="mono"><xsl:value-of select="."/></span>
        </xsl:for-each>
      </p>
    </xsl:if>
    <xsl:choose>
      <xsl:when test="neighbor">
        <table class="neighbors">
          <thead>
            <tr>
              <th>MAC</th><th>Vendor</th><th>Link-local address</th><th>Addresses</th>
              <th>First seen</th><th>Last seen</th><th>Old MACs</th>
            </tr>
          </thead>
          <tbody>
            <xsl:apply-templates select="neighbor">
              <xsl:sort select="lastseen" data-type="number" order="descending"/>
            </xsl:apply-templates>
          </tbody>
        </table>
      </xsl:when>
      <xsl:otherwise><p class="muted">No neighbours.</p></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="neighbor">
    <tr data-row="neighbor">
      <td class="mono nowrap"><xsl:value-of select="mac"/></td>
      <td>
        <xsl:call-template name="or-dash">
          <xsl:with-param name="value" select="mac/@vendor"/>
        </xsl:call-template>
      </td>
      <td class="mono">
        <xsl:call-template name="or-dash">
          <xsl:with-param name="value" select="lla"/>
        </xsl:call-template>
      </td>
      <td>
        <xsl:for-each select="addresses/address">
          <div>
            <span class="mono"><xsl:value-of select="."/></span>
            <xsl:if test="@r:first">
              <span class="muted">
                <xsl:text> (</xsl:text><xsl:value-of select="@r:first"/>
                <xsl:text> – </xsl:text><xsl:value-of select="@r:last"/><xsl:text>)</xsl:text>
              </span>
            </xsl:if>
          </div>
        </xsl:for-each>
      </td>
      <td class="mono nowrap">
        <xsl:call-template name="or-dash">
          <xsl:with-param name="value" select="@r:firstseen"/>
        </xsl:call-template>
      </td>
      <td class="mono nowrap">
        <xsl:call-template name="when">
          <xsl:with-param name="readable" select="lastseen/@r:when"/>
          <xsl:with-param name="raw" select="lastseen/@lastseenstr"/>
        </xsl:call-template>
      </td>
      <td class="mono">
        <xsl:for-each select="old_macs/mac">
          <div>
            <xsl:value-of select="."/>
            <xsl:if test="@vendor">
              <span class="muted"> (<xsl:value-of select="@vendor"/>)</span>
            </xsl:if>
            <xsl:if test="@last = 'true'"><span class="muted"> (previous)</span></xsl:if>
          </div>
        </xsl:for-each>
        <xsl:if test="first_mac_seen != mac and not(old_macs/mac = first_mac_seen)">
          <div>
            <xsl:value-of select="first_mac_seen"/>
            <span class="muted"> (first)</span>
          </div>
        </xsl:if>
      </td>
    </tr>
  </xsl:template>

</xsl:stylesheet>
