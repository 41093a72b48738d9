<?xml version="1.0" encoding="UTF-8"?>
<!--
  alerts.xsl: alerts.xml (COMPATIBILITY.md §4.7) as an HTML table, newest first,
  coloured by priority (2 = high, 1 = low), with a text and priority filter.
  Part of ndpmon's web report (ndpmon report); see common.xsl.
-->
<xsl:stylesheet version="1.0"
                xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:r="urn:ndpmon:report"
                exclude-result-prefixes="r">

  <xsl:include href="common.xsl"/>

  <!-- Why there are no alerts to show (no alerts.xml, or an unreadable one). -->
  <xsl:param name="note" select="''"/>

  <xsl:template match="/">
    <xsl:call-template name="page">
      <xsl:with-param name="title" select="'Alerts'"/>
      <xsl:with-param name="current" select="'alerts.html'"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="/" mode="body">
    <xsl:if test="$note != ''">
      <p class="note"><xsl:value-of select="$note"/></p>
    </xsl:if>
    <xsl:apply-templates select="alerts"/>
  </xsl:template>

  <xsl:template match="alerts">
    <xsl:variable name="count" select="count(alert)"/>
    <p>
      <xsl:call-template name="count">
        <xsl:with-param name="n" select="$count"/>
        <xsl:with-param name="one" select="'alert'"/>
      </xsl:call-template>
      <xsl:text> (</xsl:text>
      <xsl:value-of select="count(alert[priority = 2])"/>
      <xsl:text> high, </xsl:text>
      <xsl:value-of select="count(alert[priority != 2])"/>
      <xsl:text> low priority), newest first.</xsl:text>
      <xsl:if test="@r:total">
        <xsl:text> The file holds </xsl:text>
        <xsl:value-of select="@r:total"/>
        <xsl:text>; older ones are not shown.</xsl:text>
      </xsl:if>
    </p>
    <xsl:if test="$count &gt; 0">
      <xsl:call-template name="filter-form">
        <xsl:with-param name="priority" select="true()"/>
      </xsl:call-template>
      <table id="alerts">
        <thead>
          <tr>
            <th>Time</th><th>Priority</th><th>Probe</th><th>Reason</th><th>Message</th>
            <th>MAC</th><th>MAC 2</th><th>IPv6 address</th>
          </tr>
        </thead>
        <tbody>
          <!-- Newest first; equal times in reverse file order (the file is appended
               to): r:seq is the alert's place in the file (libxslt's position() in a
               second sort key is not that). -->
          <xsl:apply-templates select="alert">
            <xsl:sort select="time" data-type="number" order="descending"/>
            <xsl:sort select="@r:seq" data-type="number" order="descending"/>
          </xsl:apply-templates>
        </tbody>
      </table>
    </xsl:if>
  </xsl:template>

  <xsl:template match="alert">
    <xsl:variable name="level">
      <xsl:choose>
        <xsl:when test="priority = 2">high</xsl:when>
        <xsl:otherwise>low</xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <tr class="{$level}" data-row="alert" data-priority="{$level}">
      <td class="mono nowrap">
        <xsl:call-template name="when">
          <xsl:with-param name="readable" select="@r:when"/>
          <xsl:with-param name="raw" select="time_str"/>
        </xsl:call-template>
      </td>
      <td class="prio"><xsl:value-of select="$level"/></td>
      <td><xsl:value-of select="probe"/></td>
      <td><xsl:value-of select="reason"/></td>
      <td>
        <!-- r:message: the message as the IPv6 column shows addresses (report.py);
             without it (the XML opened in a browser), the file's own -->
        <xsl:call-template name="or-dash">
          <xsl:with-param name="value" select="@r:message | message[not(../@r:message)]"/>
        </xsl:call-template>
      </td>
      <td class="mono nowrap">
        <xsl:call-template name="or-dash">
          <xsl:with-param name="value" select="ethernet_address1"/>
        </xsl:call-template>
      </td>
      <td class="mono nowrap">
        <xsl:call-template name="or-dash">
          <xsl:with-param name="value" select="ethernet_address2"/>
        </xsl:call-template>
      </td>
      <td class="mono">
        <xsl:call-template name="or-dash">
          <xsl:with-param name="value" select="ipv6_address"/>
        </xsl:call-template>
      </td>
    </tr>
  </xsl:template>

</xsl:stylesheet>
